dim = max(192 384)
# expect: tests/diag/syntax-missing-comma.dsl:1:15: error: syntax error: unexpected integer '384'; expected ')', ',' or an operator
# expect:     1 | dim = max(192 384)
# expect:       |               ^~~
# expect: 1 error
# exit: 1
