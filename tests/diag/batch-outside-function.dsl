batch = B
# expect: tests/diag/batch-outside-function.dsl:1:9: error: unknown name 'B'
# expect:     1 | batch = B
# expect:       |         ^
# expect: 1 error
# exit: 1
