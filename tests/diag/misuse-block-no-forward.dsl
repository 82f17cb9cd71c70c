block A(n) {
  param w: [n] = zeros()
}
model m = A(4)
# expect: tests/diag/misuse-block-no-forward.dsl:4:11: error: block 'A' has no forward function, so it cannot be a model
# expect:     4 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
