block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
# expect: tests/diag/no-model.dsl:1:1: error: the file defines no model (write `model NAME = Block(...)`)
# expect:     1 | block A(n) {
# expect:       | ^
# expect: 1 error
# exit: 1
