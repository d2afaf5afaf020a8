package eval

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestSpearmanScipyExample(t *testing.T) {
	// scipy.stats.spearmanr documentation: spearmanr([1,2,3,4,5],
	// [5,6,7,8,7]) = 0.8207826816681233. By hand: ranks [1 2 3 4 5] and
	// [1 2 3.5 5 3.5]; Σdx·dy = 8, Σdx² = 10, Σdy² = 9.5; 8/sqrt(95).
	got, err := Spearman([]float64{1, 2, 3, 4, 5}, []float64{5, 6, 7, 8, 7})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "spearman", got, 8/math.Sqrt(95))
	if math.Abs(got-0.8207826816681233) > 1e-15 {
		t.Errorf("spearman = %v, scipy gives 0.8207826816681233", got)
	}
}

func TestPearsonScipyExample(t *testing.T) {
	// scipy.stats.pearsonr documentation: x = [1..7], y = [10, 9, 2.5,
	// 6, 4, 3, 2] gives -0.828503883588428.
	got, err := Pearson([]float64{1, 2, 3, 4, 5, 6, 7}, []float64{10, 9, 2.5, 6, 4, 3, 2})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-(-0.828503883588428)) > 1e-15 {
		t.Errorf("pearson = %.17g, want -0.828503883588428", got)
	}
}

func TestRanks(t *testing.T) {
	// scipy.stats.rankdata documentation: rankdata([0, 2, 3, 2]) = [1, 2.5, 4, 2.5].
	if got := Ranks([]float64{0, 2, 3, 2}); !slices.Equal(got, []float64{1, 2.5, 4, 2.5}) {
		t.Errorf("Ranks = %v", got)
	}
	// All tied: everyone gets the middle rank.
	if got := Ranks([]float64{5, 5, 5}); !slices.Equal(got, []float64{2, 2, 2}) {
		t.Errorf("Ranks = %v", got)
	}
}

func TestCorrelationErrors(t *testing.T) {
	if _, err := Pearson([]float64{1, 1, 1}, []float64{1, 2, 3}); !errors.Is(err, ErrConstant) {
		t.Errorf("constant x: %v", err)
	}
	if _, err := Spearman([]float64{1, 2, 3}, []float64{4, 4, 4}); !errors.Is(err, ErrConstant) {
		t.Errorf("constant y: %v", err)
	}
	if _, err := Spearman([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("length mismatch: no error")
	}
	if _, err := Pearson([]float64{1}, []float64{1}); err == nil {
		t.Error("one value: no error")
	}
	// A perfect monotone but non-linear relation: Spearman 1, Pearson < 1.
	x := []float64{1, 2, 3, 4}
	y := []float64{1, 4, 9, 100}
	s, _ := Spearman(x, y)
	p, _ := Pearson(x, y)
	if s != 1 || !(p < 1) {
		t.Errorf("spearman %v, pearson %v", s, p)
	}
}
