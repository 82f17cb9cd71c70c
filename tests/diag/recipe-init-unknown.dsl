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
  init = pretrain
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-init-unknown.dsl:14:3: error: 'init' must be scratch or the name of an earlier recipe; no recipe 'pretrain' comes before 'r'
# expect:    14 |   init = pretrain
# expect:       |   ^~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
