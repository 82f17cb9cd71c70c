dim = 192
}
# expect: tests/diag/syntax-stray-brace.dsl:2:1: error: syntax error: unexpected '}'
# expect:     2 | }
# expect:       | ^
# expect: 1 error
# exit: 1
