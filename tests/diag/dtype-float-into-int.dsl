block L() {
  param w: [3] = zeros()
  def forward(x: i32[B, 3]) -> [B, 3] {
    return cast(x * 0.5, f32)
  }
}
model m = L()
# expect: tests/diag/dtype-float-into-int.dsl:4:17: error: right operand: the number 0.5 does not fit the i32 operands here
# expect:     4 |     return cast(x * 0.5, f32)
# expect:       |                 ^~~~~~~
# expect: 1 error
# exit: 1
