package main

import (
	"errors"
	"fmt"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/train"
)

// The pooling a run trains: the model's own (mean, CLS … from its Pooling
// module), or NV-Embed's latent attention, with or without the encoder.

// latentTrainHelp documents the configuration keys of this file.
const latentTrainHelp = `  latent_attention pool with NV-Embed's latent attention instead of the model's pooling, trained
                   from NV-Embed's initialization (seed): {"latents": 512, "heads": 8, "head_dim": 0
                   (hidden size / heads), "include_prompt": true, "normalize": false}. The model is
                   saved with a kotodama.models.LatentAttention module in place of Pooling. A model
                   whose directory already has that module keeps training it without this key.
                   include_prompt false (leave instructions out of the mean, as NV-Embed) needs
                   empty prefixes: training pools whole sequences
  freeze_encoder   train the latent attention alone; the encoder's weights stay as loaded
`

// latentTrainConfig is the "latent_attention" key.
type latentTrainConfig struct {
	Latents       int   `json:"latents"`
	Heads         int   `json:"heads"`
	HeadDim       int   `json:"head_dim"`
	IncludePrompt *bool `json:"include_prompt"`
	Normalize     bool  `json:"normalize"`
}

// latentDefaults fills and checks the latent-attention keys.
func (c *trainConfig) latentDefaults() error {
	l := c.LatentAttention
	if l == nil {
		return nil
	}
	if l.Latents == 0 {
		l.Latents = 512
	}
	if l.Heads == 0 {
		l.Heads = 8
	}
	if l.IncludePrompt == nil {
		t := true
		l.IncludePrompt = &t
	}
	if l.Latents < 0 || l.Heads < 0 || l.HeadDim < 0 {
		return errors.New(`"latent_attention": "latents", "heads" and "head_dim" must not be negative`)
	}
	if !*l.IncludePrompt {
		for task, p := range c.Prefixes {
			if p.Query != "" || p.Document != "" {
				return fmt.Errorf(`"latent_attention": "include_prompt" false with prefixes (task %q): training pools whole sequences, so the prefix would be pooled in training and not at inference`, task)
			}
		}
	}
	return nil
}

// newEncoder sets r.enc and the functions saving it, for the model bm
// (loaded from the directory em was loaded from).
func (r *trainRun) newEncoder(bm *bert.Model, em *embed.Model) error {
	c := r.cfg
	var la *pooling.LatentAttention
	switch l := c.LatentAttention; {
	case l != nil:
		H := bm.Config.HiddenSize
		lc := pooling.LatentConfig{Dim: H, Latents: l.Latents, Heads: l.Heads, HeadDim: l.HeadDim,
			Normalize: l.Normalize, IncludePrompt: *l.IncludePrompt}
		if lc.HeadDim == 0 {
			if H%l.Heads != 0 {
				return fmt.Errorf(`"latent_attention": hidden size %d is not a multiple of %d heads: give "head_dim"`, H, l.Heads)
			}
			lc.HeadDim = H / l.Heads
		}
		var err error
		if la, err = newLatentInit(r.be, lc, *c.Seed); err != nil {
			return err
		}
	case em.LatentAttention() != nil:
		// Continue training the model's own module, on this run's backend.
		src := em.LatentAttention()
		var err error
		if la, err = pooling.NewLatentAttention(r.be, src.LatentConfig); err != nil {
			return err
		}
		// Upload: a copy on the CPU, a transfer on a GPU.
		if err := r.be.Upload(la.Params.Arena, src.Params.Arena.Host()); err != nil {
			return err
		}
	}
	if la == nil {
		if c.FreezeEncoder {
			return errors.New(`"freeze_encoder" needs a latent attention to train ("latent_attention")`)
		}
		pool, err := pooling.New(r.be, em.Pooling())
		if err != nil {
			return err
		}
		enc, err := train.NewBERT(bm, pool)
		if err != nil {
			return err
		}
		r.enc = enc
		r.save = func(dir string) error { return r.md.Save(dir, enc) }
		r.saveFinal = func(dir string) error { return r.md.SaveFinal(dir, enc) }
		return nil
	}
	enc, err := train.NewLatentBERT(bm, la, c.FreezeEncoder)
	if err != nil {
		return err
	}
	r.enc = enc
	r.save = func(dir string) error { return r.md.SaveLatent(dir, enc) }
	r.saveFinal = func(dir string) error { return r.md.SaveLatentFinal(dir, enc) }
	return nil
}
