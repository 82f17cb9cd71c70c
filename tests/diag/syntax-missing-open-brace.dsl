# One error: the '}' that closed the block early is not reported again.
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n]
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/syntax-missing-open-brace.dsl:4:35: error: syntax error: unexpected end of line; expected '{'
# expect:     4 |   def forward(x: [B, n]) -> [B, n]
# expect:       |                                   ^
# expect: 1 error
# exit: 1
