# The masking permutations drawn on the device against rt_randperm's (tests/cuda/run.sh):
# rows of 256 (MAE's tokens), 64, 7 and 1 elements. Each permutation, as floats, weighs
# the image's pixels in the loss, so every parameter's gradient is a sum over the
# permutation's elements: one element in a different place changes it by far more than
# float32 rounding. Run with several micro-batches a step (each draws its own) and seeds.
block P() {
  param a: [256] = normal(1.0)
  param b: [64] = normal(1.0)
  param c: [7] = normal(1.0)
  param d: [1] = normal(1.0)
  def forward(img: [B, 3, 32, 32]) -> [] {
    pa = cast(randperm([B, 256], axis = 1), f32) * reshape(img[:, 0, 0:8, :], [B, 256]) * a
    pb = cast(randperm([B, 64], axis = 1), f32) * reshape(img[:, 1, 0:2, :], [B, 64]) * b
    pc = cast(randperm([B, 7], axis = 1), f32) * reshape(img[:, 2, 0:1, 0:7], [B, 7]) * c
    pd = (cast(randperm([B, 1], axis = 1), f32) + 1.0) * reshape(img[:, 2, 1:2, 0:1], [B, 1]) * d
    return sum(pa, axes = []) + sum(pb, axes = []) + sum(pc, axes = []) + sum(pd, axes = [])
  }
}
model p = P()

recipe check {
  model = p
  data = cifar10
  lr = 1e-3
  epochs = 1
  batch = 6
  micro_batch = 3
  def loss(img: [B, 3, 32, 32]) {
    return p(img) ** 2
  }
}
