module github.com/kotodama-ai/kotodama

go 1.26
