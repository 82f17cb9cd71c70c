param = 3
# expect: tests/diag/syntax-keyword-as-name.dsl:1:7: error: syntax error: unexpected '='; expected name
# expect:     1 | param = 3
# expect:       |       ^
# expect: tests/diag/syntax-keyword-as-name.dsl:1:1: note: 'param' is a keyword, so it cannot name a value
# expect:     1 | param = 3
# expect:       | ^~~~~
# expect: 1 error
# exit: 1
