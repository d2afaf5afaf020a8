# Independent cross-check of TestJSQuADBM25Reference, written apart from the Go
# code (Python 3 standard library only): JSQuAD valid -> retrieval task (title
# prefix stripped) -> BM25 over character bigrams (k1=1.2, b=0.75) -> JMTEB
# accuracy@k, MRR@10, nDCG@10.  Run from the repository root:
#   python3 eval/testdata/bm25_jsquad.py
import json, math, unicodedata, sys
from collections import Counter, defaultdict
d = json.load(open('datasets/jglue/jsquad-v1.3/valid-v1.3.json'))
docs, doc_of, queries = [], {}, []
for a in d['data']:
    for pi, p in enumerate(a['paragraphs']):
        key = (a['title'], p['context'])
        if key not in doc_of:
            doc_of[key] = len(docs)
            c = p['context']; pre = a['title'] + ' [SEP] '
            docs.append(c[len(pre):] if c.startswith(pre) else c)
        for q in p['qas']:
            if not q.get('is_impossible'):
                queries.append((q['question'], doc_of[key]))
def cls(ch):
    if ch == 'ー': return 1
    if ch == '・': return 0
    n = unicodedata.name(ch, '')
    if n.startswith(('CJK UNIFIED', 'CJK COMPATIBILITY IDEOGRAPH', 'HIRAGANA', 'KATAKANA', 'HANGUL')) or ch in '々〆〇': return 1
    cat = unicodedata.category(ch)
    if cat[0] == 'L' or cat[0] == 'N': return 2
    return 0
def terms(t):
    out, run, c0 = [], [], 0
    def flush():
        if not run: return
        if c0 == 1 and len(run) > 1: out.extend(run[i]+run[i+1] for i in range(len(run)-1))
        else: out.append(''.join(run))
    for ch in t:
        o = ord(ch)
        if 0xFF01 <= o <= 0xFF5E: ch = chr(o - 0xFF01 + 0x21)
        elif o == 0x3000: ch = ' '
        ch = ch.lower() if len(ch.lower()) == 1 else ch
        c = cls(ch)
        if unicodedata.category(ch) == 'Mn' and run: c = c0
        if c != c0:
            flush(); run = []; c0 = c
        if c: run.append(ch)
    flush()
    return out
k1, b = 1.2, 0.75
dt = [Counter(terms(x)) for x in docs]
dl = [sum(c.values()) for c in dt]
avg = sum(dl) / len(dl); N = len(docs)
df = Counter(t for c in dt for t in c)
post = defaultdict(list)
for i, c in enumerate(dt):
    for t, f in c.items(): post[t].append((i, f))
acc = Counter(); mrr = 0; ndcg = 0
for q, rel in queries:
    s = defaultdict(float)
    for t in terms(q):
        if t not in df: continue
        idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
        for i, f in post[t]:
            s[i] += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * dl[i] / avg))
    top = sorted((i for i in s if s[i] > 0), key=lambda i: (-s[i], i))[:10]
    for k in (1, 3, 5, 10):
        if rel in top[:k]: acc[k] += 1
    if rel in top:
        r = top.index(rel) + 1
        mrr += 1 / r; ndcg += 1 / math.log2(r + 1)
n = len(queries)
print(len(queries), len(docs), {k: acc[k] / n for k in acc}, 'mrr@10', mrr / n, 'ndcg@10', ndcg / n)
