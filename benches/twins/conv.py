"""PyTorch twin of benches/conv.rs: the same workloads and names, two
threads; convolutions report GFLOP/s, pooling Gelem/s of input.

/root/torchvenv/bin/python benches/twins/conv.py
"""
import torch
import torch.nn.functional as F

from matmul import bench

torch.set_num_threads(2)


def param(*shape):
    return (torch.randn(*shape) * 0.1).requires_grad_(True)


def conv_flops(n, c_in, c_out, hw):
    return 2 * n * c_out * hw * c_in * 9


def backward(y, grad, params):
    y.backward(grad)
    for p in params:
        p.grad = None


def conv_layers():
    x = torch.randn(1, 3, 28, 28)
    w = param(64, 3, 3, 3)

    def fwd1():
        with torch.no_grad():
            F.conv2d(x, w, None, padding=1)

    bench("conv2d/forward (1,3,28,28)->64", fwd1, conv_flops(1, 3, 64, 784))
    for n, c_in, c_out, side, input_grad in [(64, 1, 32, 28, False), (64, 32, 64, 14, True),
                                             (1, 32, 64, 14, True), (1, 3, 64, 224, False)]:
        x = torch.randn(n, c_in, side, side).requires_grad_(input_grad)
        w, b = param(c_out, c_in, 3, 3), param(c_out)
        name = f"({n},{c_in},{side},{side})->{c_out}"
        flops = conv_flops(n, c_in, c_out, side * side)
        grad = torch.ones(n, c_out, side, side)

        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, b, padding=1)

        def fwd_bwd():
            backward(F.conv2d(x, w, b, padding=1), grad, [w, b, x])

        bench(f"conv2d/forward {name}", fwd, flops)
        bench(f"conv2d/forward+backward {name}", fwd_bwd, flops * (3 if input_grad else 2))


def max_pooling():
    for n, ch, side in [(64, 32, 28), (64, 64, 14)]:
        x = torch.randn(n, ch, side, side, requires_grad=True)
        grad = torch.ones(n, ch, side // 2, side // 2)
        name = f"({n},{ch},{side},{side}) k2"

        def fwd():
            with torch.no_grad():
                F.max_pool2d(x, 2)

        def fwd_bwd():
            backward(F.max_pool2d(x, 2), grad, [x])

        bench(f"max_pool2d/forward {name}", fwd, n * ch * side * side, unit="Gelem/s")
        bench(f"max_pool2d/forward+backward {name}", fwd_bwd, n * ch * side * side, unit="Gelem/s")


def cnn_without_relu():
    x = torch.randn(64, 1, 28, 28)
    p = [param(32, 1, 3, 3), param(32), param(64, 32, 3, 3), param(64),
         param(128, 3136), param(128), param(10, 128), param(10)]
    grad = torch.ones(64, 10)

    def step():
        h = F.max_pool2d(F.conv2d(x, p[0], p[1], padding=1), 2)
        h = F.max_pool2d(F.conv2d(h, p[2], p[3], padding=1), 2)
        h = F.linear(h.flatten(1), p[4], p[5])
        backward(F.linear(h, p[6], p[7]), grad, p)

    bench("cnn batch 64 (no relu)/forward+backward", step, 0, unit=None)


def main():
    conv_layers()
    max_pooling()
    cnn_without_relu()


if __name__ == "__main__":
    main()
