# Gradient check: matrix products in every transpose case, batched and broadcast
# (tests/gradcheck/run.sh).
block M() {
  param w: [5, 8] = normal(0.5)
  param wt: [8, 5] = normal(0.5)
  param h: [2, 4, 4] = normal(0.5)
  def forward(img: [B, 3, 32, 32]) -> [B, 4, 5] {
    x = img[:, 2, 0:4, 0:8]
    y = matmul(x, w, tb = 1) + matmul(x, wt) + x @ swapaxes(w, 0, 1)
    t = swapaxes(x, 1, 2)
    y = y + matmul(t, wt, ta = 1) + matmul(t, w, ta = 1, tb = 1)
    q = reshape(y, [B, 2, 2, 5])
    att = matmul(q, q, tb = 1)
    u = expand(reshape(att, [B, 2, 4, 1]), [B, 2, 4, 5]) * 0.1
    z = matmul(h, u)
    return y + reshape(matmul(att, q), [B, 4, 5]) + z[:, 0]
  }
}
model m = M()

recipe check {
  model = m
  data = cifar10
  lr = 1e-3
  epochs = 1
  batch = 2
  def loss(img: [B, 3, 32, 32]) {
    return mean(m(img) ** 2)
  }
}
