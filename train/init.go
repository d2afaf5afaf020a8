package train

import (
	"math/rand/v2"
	"strings"

	"github.com/kotodama-ai/kotodama/bert"
)

// InitBERT sets p to a fresh initialization as Hugging Face's
// BertPreTrainedModel._init_weights does: every weight matrix and
// embedding table from a normal distribution of standard deviation std
// (initializer_range, 0.02 for BERT), the padding id's embedding row,
// biases and LayerNorm betas 0, LayerNorm gammas 1. The draw is a pure
// function of seed.
func InitBERT(p *bert.Params, c bert.Config, std float64, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x6b6f746f64616d61))
	for _, t := range p.Tensors() {
		w := t.Buf.Host()
		onGPU := w == nil && t.Buf.Len() > 0
		if onGPU {
			w = make([]float32, t.Buf.Len()) // drawn on the host, then uploaded
		}
		switch {
		case strings.HasSuffix(t.Name, "LayerNorm.weight"):
			for i := range w {
				w[i] = 1
			}
		case strings.HasSuffix(t.Name, ".bias"):
			clear(w)
		default:
			for i := range w {
				w[i] = float32(r.NormFloat64() * std)
			}
			if t.Name == "embeddings.word_embeddings.weight" && c.PadTokenID >= 0 && c.PadTokenID < c.VocabSize {
				clear(w[c.PadTokenID*c.HiddenSize : (c.PadTokenID+1)*c.HiddenSize])
			}
		}
		if onGPU {
			writeBuf(t.Buf, w) // a failed upload is reported by the device's next Sync
		}
	}
}
