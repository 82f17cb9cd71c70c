return 1
# expect: tests/diag/misuse-return-top.dsl:1:1: error: 'return' belongs in a function body, not at the top level
# expect:     1 | return 1
# expect:       | ^~~~~~~~
# expect: 1 error
# exit: 1
