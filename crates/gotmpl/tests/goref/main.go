// goref runs Go's own text/template for ferry's differential test and benchmark.
//
// It reads one JSON request per line on stdin and writes one JSON answer per line:
//
//	{"name": "t", "text": "{{ . }}", "data": <any JSON>, "missingkey": "zero"}
//	-> {"out": "...", "err": "..."}  (err is the parse or execution error, if any)
//
// With "iters": N > 0 it parses once, executes N times and answers with the nanoseconds
// spent executing ({"ns": ...}), for `cargo xtask bench gotmpl`. Data is decoded as Helm
// decodes values: JSON numbers become float64. Standard library only.
package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strings"
	"text/template"
	"time"
)

type request struct {
	Name       string          `json:"name"`
	Text       string          `json:"text"`
	Data       json.RawMessage `json:"data"`
	MissingKey string          `json:"missingkey"`
	Iters      int             `json:"iters"`
}

type answer struct {
	Out string `json:"out"`
	Err string `json:"err,omitempty"`
	Ns  int64  `json:"ns,omitempty"`
}

func run(req request) answer {
	var data any
	if len(req.Data) > 0 {
		if err := json.Unmarshal(req.Data, &data); err != nil {
			return answer{Err: "bad data: " + err.Error()}
		}
	}
	t := template.New(req.Name)
	if req.MissingKey != "" {
		t = t.Option("missingkey=" + req.MissingKey)
	}
	t, err := t.Parse(req.Text)
	if err != nil {
		return answer{Err: err.Error()}
	}
	if req.Iters > 0 {
		start := time.Now()
		for i := 0; i < req.Iters; i++ {
			if err := t.Execute(io.Discard, data); err != nil {
				return answer{Err: err.Error()}
			}
		}
		return answer{Ns: time.Since(start).Nanoseconds()}
	}
	var out strings.Builder
	if err := t.Execute(&out, data); err != nil {
		return answer{Out: out.String(), Err: err.Error()}
	}
	return answer{Out: out.String()}
}

func main() {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if err == io.EOF {
				break
			}
			os.Stderr.WriteString("goref: " + err.Error() + "\n")
			os.Exit(2)
		}
		if err := enc.Encode(run(req)); err != nil {
			os.Exit(2)
		}
		out.Flush()
	}
	out.Flush()
}
