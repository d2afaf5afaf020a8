// Package loss holds the training objectives of embedding models, each a
// forward pass that returns the loss and a backward pass that accumulates
// its gradient with respect to the embeddings, so any encoder that can
// back-propagate from its pooled output can train with them.
//
// # Overview
//
// [InfoNCE] is the contrastive loss sentence-transformers calls
// MultipleNegativesRankingLoss: each anchor (a query) is scored against every
// candidate in the batch — its own positive, the other anchors' positives
// (in-batch negatives) and any hard negatives — and the loss is the cross
// entropy of picking its own positive. Candidates are laid out as
// sentence-transformers lays them out,
//
//	C = [positives; 1st hard negatives; 2nd hard negatives; …]
//
// so row i of the first block is anchor i's positive and row j·b+i is
// anchor i's j-th hard negative. Options choose the scale (or temperature),
// cosine or dot-product similarity, the symmetric variant
// (MultipleNegativesSymmetricRankingLoss), other anchors as extra negatives
// (query–query negatives, as GTE's improved contrastive loss) and a hook
// that masks suspected false negatives.
//
// [InfoNCE.Loss] can work on the anchors a chunk at a time ([WithChunk]),
// as CachedMultipleNegativesRankingLoss does, so the score matrix held at
// once is chunk × candidates instead of batch × candidates; the loss and
// gradients are the same as the one-shot computation up to float rounding.
// GradCache (package train) relies on this: it embeds a large batch without
// keeping activations, calls Loss once on all embeddings, and
// back-propagates the embedding gradients mini-batch by mini-batch.
package loss
