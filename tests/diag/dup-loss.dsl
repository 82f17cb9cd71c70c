block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
recipe r {
  model = m
  data = cifar10
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/dup-loss.dsl:17:7: error: recipe 'r' defines 'loss' twice
# expect:    17 |   def loss(img: [B, 3, 32, 32]) {
# expect:       |       ^~~~
# expect: tests/diag/dup-loss.dsl:14:7: note: first defined here
# expect:    14 |   def loss(img: [B, 3, 32, 32]) {
# expect:       |       ^~~~
# expect: 1 error
# exit: 1
