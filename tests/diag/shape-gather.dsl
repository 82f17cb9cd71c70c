block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n, 8]) -> [B, 2, 8] {
    idx = randperm([B, 2, 5], axis = 1)
    return gather(x, idx, axis = 1)
  }
}
model m = A(4)
# expect: tests/diag/shape-gather.dsl:5:12: error: 'gather' indexes i32[B,2,5] and source f32[B,4,8] differ in dimension 2
# expect:     5 |     return gather(x, idx, axis = 1)
# expect:       |            ^~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
