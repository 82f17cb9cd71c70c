# The statement cut short by '}' is reported where it ends; the '}' still closes
# the body, so the error in the model line is found too.
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x *
  }
}
model m A(4)
# expect: tests/diag/syntax-incomplete-before-brace.dsl:6:15: error: syntax error: unexpected end of line; expected an expression
# expect:     6 |     return x *
# expect:       |               ^
# expect: tests/diag/syntax-incomplete-before-brace.dsl:9:9: error: syntax error: unexpected name 'A'; expected '='
# expect:     9 | model m A(4)
# expect:       |         ^
# expect: 2 errors
# exit: 1
