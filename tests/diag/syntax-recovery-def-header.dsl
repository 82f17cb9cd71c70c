# After an error in a function header the parser skips its body as a whole, so the
# braces stay paired and the error in the next block is reported on its own.
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n] -> [B, n] {
    return x * w
  }
}
block C(n) {
  def forward(x: [B, n]) -> [B, n] {
    return x +
  }
}
# expect: tests/diag/syntax-recovery-def-header.dsl:5:25: error: syntax error: unexpected '->'; expected ')' or ','
# expect:     5 |   def forward(x: [B, n] -> [B, n] {
# expect:       |                         ^~
# expect: tests/diag/syntax-recovery-def-header.dsl:11:15: error: syntax error: unexpected end of line; expected an expression
# expect:    11 |     return x +
# expect:       |               ^
# expect: 2 errors
# exit: 1
