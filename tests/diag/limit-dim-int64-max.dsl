# The largest integer as a dimension.
block L() {
  param w: [9223372036854775807] = zeros()
  def forward(x: [B, 4]) -> [B, 4] {
    return x
  }
}
model m = L()
# expect: tests/diag/limit-dim-int64-max.dsl:3:13: error: a parameter dimension must be an integer between 1 and 2^40, got the integer 9223372036854775807
# expect:     3 |   param w: [9223372036854775807] = zeros()
# expect:       |             ^~~~~~~~~~~~~~~~~~~
# expect: tests/diag/limit-dim-int64-max.dsl:8:11: note: in this instance of block 'L'
# expect:     8 | model m = L()
# expect:       |           ^~~
# expect: 1 error
# exit: 1
