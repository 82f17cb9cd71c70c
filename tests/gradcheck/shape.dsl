# Gradient check: the ops that move data, and the MAE masking path (tests/gradcheck/run.sh).
block M() {
  param a: [6, 4] = normal(1.0)
  param e: [1, 1, 4] = normal(1.0)
  def forward(img: [B, 3, 32, 32]) -> [B, 7, 4] {
    x = reshape(img[:, 0, 0:6, 0:4], [B, 6, 4]) * a
    perm = randperm([B, 6], axis = 1)
    back = argsort(perm, axis = 1)
    kept = gather(x, perm[:, 0:3], axis = 1)
    y = concat(expand(e, [B, 1, 4]), kept, x[:, 3:6], axis = 1)
    y = gather(y, concat(zeros([B, 1], i32), back + 1, axis = 1), axis = 1)
    y = transpose(reshape(y, [B, 7, 2, 2]), [0, 1, 3, 2])
    return reshape(y, [B, 7, 4]) * expand(swapaxes(a[0:1, :], 0, 1)[0, :], [B, 7, 4])
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
