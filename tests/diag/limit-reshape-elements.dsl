# A reshape whose target shape overflows.
block L() {
  def forward(x: [B, 4]) -> [B, 4] {
    y = reshape(x, [B, 4294967296, 4294967296, 4294967296])
    return x
  }
}
model m = L()
# expect: tests/diag/limit-reshape-elements.dsl:4:9: error: 'reshape' to [B,4294967296,4294967296,4294967296]: too many elements
# expect:     4 |     y = reshape(x, [B, 4294967296, 4294967296, 4294967296])
# expect:       |         ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
