"""
PyTorch's numbers for tests/optim/pytorch.test.ts: the weights after every step of the optimizers
PyTorch 1.13 has (SGD's dampening, Adamax, RAdam), and the rate (and momentum) at every step of the
schedules (CyclicLR, CosineAnnealingWarmRestarts, MultiStepLR, PolynomialLR), written to pytorch.json
beside this file. The test reads the committed JSON, so the suite needs no Python; to regenerate
(Debian's python3-torch; the python3 first on PATH may lack torch):

    /usr/bin/python3 tests/optim/goldens/make.py

Every optimizer case starts from the same weights and takes the same gradients (set by hand, as
backward() would leave them), so a case differs only in its optimizer.
"""
import json
import os

import numpy as np
import torch

STEPS = 12
rng = np.random.default_rng(22)
W0 = [rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
# Gradients of changing scale and sign, so that moments, maxima and the rectification all move.
GRADS = [[(rng.standard_normal(w.shape) * (0.2 + step % 4)).astype(np.float32) for w in W0] for step in range(STEPS)]


def flat(tensors):
    return [float(x) for t in tensors for x in t.detach().numpy().ravel()]


def run_optimizer(make, lrs):
    params = [torch.tensor(w, requires_grad=True) for w in W0]
    opt = make(params)
    weights = []
    for step in range(STEPS):
        for group in opt.param_groups:
            group['lr'] = lrs[step]
        for p, g in zip(params, GRADS[step]):
            p.grad = torch.tensor(g)
        opt.step()
        weights.append(flat(params))
    return weights


def lr_steps(first, second, switch=6):
    return [first if step < switch else second for step in range(STEPS)]


OPTIMIZERS = [
    # name, tapegrad class and options, torch constructor, the rate of each step
    ('SGD momentum 0.9, dampening 0.3', 'SGD', {'momentum': 0.9, 'dampening': 0.3},
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3), lr_steps(0.1, 0.1)),
    ('SGD momentum 0.5, dampening 0.5, weight decay 0.01', 'SGD', {'momentum': 0.5, 'dampening': 0.5, 'weightDecay': 0.01},
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.5, weight_decay=0.01), lr_steps(0.05, 0.05)),
    ('Adamax, the rate lowered at step 7', 'Adamax', {},
     lambda p: torch.optim.Adamax(p, lr=0.05), lr_steps(0.05, 0.02)),
    ('Adamax betas (0.8, 0.99), weight decay 0.1', 'Adamax', {'betas': [0.8, 0.99], 'weightDecay': 0.1},
     lambda p: torch.optim.Adamax(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), lr_steps(0.01, 0.01)),
    ('RAdam, momentum steps then rectified from step 6, the rate lowered at step 7', 'RAdam', {},
     lambda p: torch.optim.RAdam(p, lr=0.01), lr_steps(0.01, 0.003)),
    ('RAdam betas (0.9, 0.99), eps 1e-6, weight decay 0.1', 'RAdam', {'betas': [0.9, 0.99], 'eps': 1e-6, 'weightDecay': 0.1},
     lambda p: torch.optim.RAdam(p, lr=0.02, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1), lr_steps(0.02, 0.02)),
]


def run_schedule(make, steps, lr=0.1, momentum=0.9):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr, momentum=momentum)
    sched = make(opt)
    lrs, momenta = [], []
    for _ in range(steps):
        # PyTorch's pattern: train at the current rate, then step the schedule.
        lrs.append(opt.param_groups[0]['lr'])
        momenta.append(opt.param_groups[0]['momentum'])
        opt.step()
        sched.step()
    return lrs, momenta


S = torch.optim.lr_scheduler
SCHEDULES = [
    ('Cyclic triangular', 'Cyclic', {'baseLr': 0.01, 'maxLr': 0.1, 'stepSize': 4}, 17,
     lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ('Cyclic triangular2, 3 up and 5 down', 'Cyclic', {'baseLr': 0.001, 'maxLr': 0.1, 'stepSize': 3, 'stepSizeDown': 5, 'mode': 'triangular2'}, 30,
     lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=3, step_size_down=5, mode='triangular2')),
    ('Cyclic exp_range gamma 0.9, momentum 0.85-0.95', 'Cyclic', {'baseLr': 0.01, 'maxLr': 0.2, 'stepSize': 2, 'mode': 'expRange', 'gamma': 0.9, 'baseMomentum': 0.85, 'maxMomentum': 0.95}, 20,
     lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=2, mode='exp_range', gamma=0.9, base_momentum=0.85, max_momentum=0.95)),
    ('Cyclic without momentum cycling', 'Cyclic', {'baseLr': 0.02, 'maxLr': 0.05, 'stepSize': 5, 'cycleMomentum': False}, 12,
     lambda o: S.CyclicLR(o, base_lr=0.02, max_lr=0.05, step_size_up=5, cycle_momentum=False)),
    ('CosineWarmRestarts t0 3, tMult 2, minLr 0.001', 'CosineWarmRestarts', {'t0': 3, 'tMult': 2, 'minLr': 0.001}, 25,
     lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
    ('CosineWarmRestarts t0 4', 'CosineWarmRestarts', {'t0': 4}, 13,
     lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4)),
    ('MultiStepDecay milestones [2, 5, 5, 9], gamma 0.3', 'MultiStepDecay', {'milestones': [2, 5, 5, 9], 'gamma': 0.3}, 12,
     lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3)),
    ('PolynomialDecay total 6, power 2', 'PolynomialDecay', {'total': 6, 'power': 2}, 9,
     lambda o: S.PolynomialLR(o, total_iters=6, power=2)),
    ('PolynomialDecay defaults (total 5, power 1)', 'PolynomialDecay', {}, 8,
     lambda o: S.PolynomialLR(o)),
]

out = {
    'torch': torch.__version__,
    'w0': flat([torch.tensor(w) for w in W0]),
    'shapes': [list(w.shape) for w in W0],
    'grads': [flat([torch.tensor(g) for g in step]) for step in GRADS],
    'optimizers': [
        {'name': name, 'type': cls, 'options': options, 'lrs': lrs, 'weights': run_optimizer(make, lrs)}
        for name, cls, options, make, lrs in OPTIMIZERS
    ],
    'schedules': [],
}
for name, cls, options, steps, make in SCHEDULES:
    lrs, momenta = run_schedule(make, steps)
    out['schedules'].append({'name': name, 'type': cls, 'options': options, 'lr': 0.1, 'momentum': 0.9, 'lrs': lrs, 'momenta': momenta})

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pytorch.json')
with open(path, 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
print(f'wrote {path}')
