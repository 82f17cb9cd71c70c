# The CUDA attention kernels (codegen/cuda.c, emit_attention) against the C trainer's
# attention at sizes MAE's models do not have (tests/cuda/run.sh): 48 tokens of two heads
# 32 wide, 5 tokens of one head 24 wide (partial tiles everywhere) and 17 tokens of three
# heads 8 wide. The loss reads every output, so every parameter's gradient goes through
# both kernels, the forward's and the backward's.
block Att(dim, heads) {
  param wq: [dim, dim] = normal(0.2)
  param wk: [dim, dim] = normal(0.2)
  param wv: [dim, dim] = normal(0.2)
  def forward(x: [B, T, dim]) -> [B, T, dim] {
    hd = dim / heads
    q = transpose(reshape(matmul(x, wq), [B, T, heads, hd]), [0, 2, 1, 3])
    k = transpose(reshape(matmul(x, wk), [B, T, heads, hd]), [0, 2, 1, 3])
    v = transpose(reshape(matmul(x, wv), [B, T, heads, hd]), [0, 2, 1, 3])
    a = softmax(matmul(q, k, tb = 1) * hd ** -0.5, axis = -1)
    return reshape(transpose(a @ v, [0, 2, 1, 3]), [B, T, dim])
  }
}

block Three() {
  wide = Att(64, 2)
  small = Att(24, 1)
  narrow = Att(24, 3)
  def forward(img: [B, 3, 32, 32]) -> [] {
    x = reshape(img, [B, 48, 64])
    y = wide(x)
    z = small(y[:, 0:5, 0:24])
    w = narrow(y[:, 8:25, 40:64])
    return sum(y * y, axes = []) + sum(z * z, axes = []) + sum(w * w, axes = [])
  }
}
model m = Three()

recipe check {
  model = m
  data = cifar10
  lr = 1e-3
  epochs = 1
  batch = 2
  def loss(img: [B, 3, 32, 32]) {
    return m(img)
  }
}
