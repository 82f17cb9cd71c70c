block A(n) {
  param w: [B, n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/batch-in-param.dsl:2:13: error: unknown name 'B' in the shape of parameter 'w': parameter shapes are fixed, so they cannot name the batch dimension
# expect:     2 |   param w: [B, n] = zeros()
# expect:       |             ^
# expect: tests/diag/batch-in-param.dsl:7:11: note: in this instance of block 'A'
# expect:     7 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
