package embed

import (
	"fmt"
	"path"

	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
)

// Latent-attention pooling (NV-Embed) as a module of a model directory:
// modules.json lists it in place of the Pooling module,
//
//	{"idx": 1, "name": "1", "path": "1_LatentAttention", "type": "kotodama.models.LatentAttention"}
//
// and its folder holds config.json (NV-Embed's LatentAttentionConfig keys
// plus include_prompt) and model.safetensors (NV-Embed's
// latent_attention_model.* names); package pooling documents both.
// sentence-transformers has no such module: such a directory loads in
// Kotodama only.

// loadLatent reads the latent-attention module at dir (relative to root)
// for a transformer of the given hidden size. It returns the module and
// the mean-pooling config equivalent to its output (width, prompt
// handling), which the rest of the model uses to size and prompt.
func loadLatent(be kernels.Backend, root files, dir string, hidden int) (*pooling.LatentAttention, pooling.Config, error) {
	p := root.join(dir)
	if root.fsys != nil {
		p = path.Clean(p)
	}
	la, err := pooling.LoadLatentAttention(be, root.fsys, p)
	if err != nil {
		return nil, pooling.Config{}, fmt.Errorf("embed: %w", err)
	}
	if la.Dim != hidden {
		return nil, pooling.Config{}, fmt.Errorf("embed: %s: hidden_dim %d, but the transformer's hidden size is %d", root.join(dir, "config.json"), la.Dim, hidden)
	}
	return la, pooling.Config{Dim: la.Dim, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: la.IncludePrompt}, nil
}

// poolForward pools the encoder's last hidden state of the batch in w
// into w.pooled with the model's pooling module.
func (m *Model) poolForward(w *workspace, mask []int32, batch, seqLen, promptLen int) error {
	if m.latent != nil {
		return m.latent.Forward(w.pooled, w.lacts, w.acts.Hidden, mask, batch, seqLen, promptLen)
	}
	return m.pool.Forward(w.pooled, w.pacts, w.acts.Hidden, mask, batch, seqLen, promptLen)
}

// newLatentActs allocates the latent attention's activations for w, when
// the model has one.
func (m *Model) newLatentActs(w *workspace) error {
	if m.latent == nil {
		return nil
	}
	a, err := m.latent.NewActs(w.batch * w.seq)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	w.lacts = a
	return nil
}

// LatentAttention returns the model's latent-attention pooling module, or
// nil when it pools with a Pooling module. Its parameters are the model's:
// treat them as read-only while the model encodes.
func (m *Model) LatentAttention() *pooling.LatentAttention { return m.latent }
