block A(n) {
  param w: [n] = zeros()
  inner = A(n)
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/recursive-block.dsl:3:11: error: block 'A' is recursive: it instantiates itself
# expect:     3 |   inner = A(n)
# expect:       |           ^~~~
# expect: tests/diag/recursive-block.dsl:8:11: note: in this instance of block 'A'
# expect:     8 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
