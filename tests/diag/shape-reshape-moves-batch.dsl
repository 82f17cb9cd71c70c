block L() {
  param w: [3] = zeros()
  def forward(x: [B, 3]) -> [B, 3] {
    return reshape(x, [3, B])
  }
}
model m = L()
# expect: tests/diag/shape-reshape-moves-batch.dsl:4:12: error: cannot reshape f32[B,3] to [3,B]: the batch dimension B would move
# expect:     4 |     return reshape(x, [3, B])
# expect:       |            ^~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
