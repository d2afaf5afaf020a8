package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrConstant is returned by Pearson and Spearman when one of the inputs
// has no variance, so no correlation is defined (scipy returns NaN and
// warns).
var ErrConstant = errors.New("input is constant")

// Pearson is the Pearson correlation coefficient of x and y, as
// scipy.stats.pearsonr computes it:
//
//	r = Σ (x-x̄)(y-ȳ) / sqrt(Σ (x-x̄)² · Σ (y-ȳ)²)
//
// in float64, with the means subtracted first for accuracy. x and y must
// have the same length, at least 2; a constant input is ErrConstant.
func Pearson(x, y []float64) (float64, error) {
	r, err := pearson(x, y)
	if err != nil {
		return r, fmt.Errorf("eval: Pearson: %w", err)
	}
	return r, nil
}

func pearson(x, y []float64) (float64, error) {
	if len(x) != len(y) {
		return math.NaN(), fmt.Errorf("len(x) = %d, len(y) = %d", len(x), len(y))
	}
	if len(x) < 2 {
		return math.NaN(), fmt.Errorf("%d values, need at least 2", len(x))
	}
	mx, my := meanOf(x), meanOf(y)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN(), ErrConstant
	}
	r := sxy / math.Sqrt(sxx*syy)
	// Rounding can carry |r| a hair past 1; scipy clips too.
	return max(-1, min(1, r)), nil
}

// Spearman is Spearman's rank correlation of x and y, as
// scipy.stats.spearmanr computes it: the Pearson correlation of the
// ranks, tied values sharing the average of the ranks they span
// (scipy.stats.rankdata's method="average"). For example x = [1 2 3 4 5],
// y = [5 6 7 8 7] rank as [1 2 3 4 5] and [1 2 3.5 5 3.5], giving
// 8/sqrt(95) ≈ 0.8207826816681233, the value scipy's documentation shows
// for spearmanr([1,2,3,4,5], [5,6,7,8,7]).
func Spearman(x, y []float64) (float64, error) {
	if len(x) != len(y) {
		return math.NaN(), fmt.Errorf("eval: Spearman: len(x) = %d, len(y) = %d", len(x), len(y))
	}
	r, err := pearson(Ranks(x), Ranks(y))
	if err != nil {
		return r, fmt.Errorf("eval: Spearman: %w", err)
	}
	return r, nil
}

// Ranks returns the 1-based rank of each value of x in ascending order,
// ties given the mean of the ranks they occupy (scipy.stats.rankdata,
// method="average"). NaNs rank last, as in a NumPy sort.
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b float64) bool { return a < b || (!math.IsNaN(a) && math.IsNaN(b)) }
	sort.SliceStable(idx, func(i, j int) bool { return less(x[idx[i]], x[idx[j]]) })
	ranks := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && !less(x[idx[i]], x[idx[j]]) && !less(x[idx[j]], x[idx[i]]) {
			j++
		}
		// Positions i..j-1 hold equal values: ranks i+1..j, mean (i+1+j)/2.
		r := float64(i+1+j) / 2
		for _, k := range idx[i:j] {
			ranks[k] = r
		}
		i = j
	}
	return ranks
}

func meanOf(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
