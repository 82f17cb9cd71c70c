def f(x: []) {
  return x
}
a = f(1)
# expect: tests/diag/misuse-tensor-call-at-top.dsl:4:7: error: tensor operations belong in a function body
# expect:     4 | a = f(1)
# expect:       |       ^
# expect: 1 error
# exit: 1
