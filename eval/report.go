package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Metric is one named score, such as {"ndcg@10", 0.71}.
type Metric struct {
	Name  string
	Value float64
}

// Metrics is a list of scores in report order. It encodes to JSON as an
// object in that order ({"accuracy@1": 0.5, ...}), a NaN as null.
type Metrics []Metric

// Get returns the value of the metric called name.
func (m Metrics) Get(name string) (float64, bool) {
	for _, x := range m {
		if x.Name == name {
			return x.Value, true
		}
	}
	return math.NaN(), false
}

// MarshalJSON encodes m as a JSON object in order.
func (m Metrics) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(x.Name)
		b.Write(name)
		b.WriteByte(':')
		if math.IsNaN(x.Value) || math.IsInf(x.Value, 0) {
			b.WriteString("null")
		} else {
			b.WriteString(strconv.FormatFloat(x.Value, 'g', -1, 64))
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes a JSON object of numbers (null for NaN), keeping
// its order.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("eval: metrics: want a JSON object")
	}
	*m = (*m)[:0]
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("eval: metrics: %w", err)
		}
		var v *float64
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("eval: metrics: %q: %w", t, err)
		}
		x := Metric{Name: t.(string), Value: math.NaN()}
		if v != nil {
			x.Value = *v
		}
		*m = append(*m, x)
	}
	_, err := dec.Token()
	return err
}

// WriteRetrievalTable writes results of one task side by side, one
// column per system, one row per metric, as a plain-text table.
func WriteRetrievalTable(w io.Writer, results ...*RetrievalResult) error {
	if len(results) == 0 {
		return nil
	}
	r := results[0]
	head := fmt.Sprintf("%s: %d queries, %d documents", r.Task, r.Queries, r.Documents)
	cols := make([]column, len(results))
	for i, r := range results {
		cols[i] = column{r.System, r.Metrics}
	}
	return writeTable(w, head, cols)
}

// WriteSTSTable writes STS results of one task side by side.
func WriteSTSTable(w io.Writer, results ...*STSResult) error {
	if len(results) == 0 {
		return nil
	}
	r := results[0]
	head := fmt.Sprintf("%s: %d pairs", r.Task, r.Pairs)
	cols := make([]column, len(results))
	for i, r := range results {
		cols[i] = column{r.System, r.Metrics}
	}
	return writeTable(w, head, cols)
}

type column struct {
	system  string
	metrics Metrics
}

func writeTable(w io.Writer, head string, cols []column) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, head)
	row := []string{"metric"}
	for _, c := range cols {
		row = append(row, c.system)
	}
	fmt.Fprintln(tw, strings.Join(row, "\t"))
	var names []string
	seen := map[string]bool{}
	for _, c := range cols {
		for _, m := range c.metrics {
			if !seen[m.Name] {
				seen[m.Name] = true
				names = append(names, m.Name)
			}
		}
	}
	for _, n := range names {
		row = append(row[:0], n)
		for _, c := range cols {
			v, ok := c.metrics.Get(n)
			switch {
			case !ok:
				row = append(row, "-")
			case math.IsNaN(v):
				row = append(row, "NaN")
			default:
				row = append(row, fmt.Sprintf("%.4f", v))
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}
