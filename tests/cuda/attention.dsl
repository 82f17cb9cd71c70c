# The CUDA attention kernels (codegen/cuda.c, emit_attention) against the C trainer's
# attention at sizes MAE's models do not have (tests/cuda/run.sh): 48 tokens of two heads
# 32 wide and 17 tokens of three heads 8 wide (partial tiles everywhere); and 5 tokens of
# one head 24 wide, whose groups the fuse pass leaves apart (a single head's transposes
# read q between the scores' product and the softmax), so that those paths run too. The
# loss reads every output, so every parameter's gradient goes through both kernels, the
# forward's and the backward's. As in MAE, q, k and v are slices of one
# product, which the kernels read with strides, and their gradients one concat, which the
# backward's kernel writes in place.
block Att(dim, heads) {
  param wqkv: [dim, 3 * dim] = normal(0.2)
  def forward(x: [B, T, dim]) -> [B, T, dim] {
    hd = dim / heads
    qkv5 = transpose(reshape(matmul(x, wqkv), [B, T, 3, heads, hd]), [2, 0, 3, 1, 4])
    q = qkv5[0]
    k = qkv5[1]
    v = qkv5[2]
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
