block A(dim) {
  param w: [dim] = zeros()
  def forward(x: [B, dim]) -> [B, dim] {
    return x * w
  }
}
model m = A(dims = 4)
# expect: tests/diag/name-unknown-block-keyword.dsl:7:13: error: block 'A' has no argument 'dims'; did you mean 'dim'?
# expect:     7 | model m = A(dims = 4)
# expect:       |             ^~~~
# expect: 1 error
# exit: 1
