# Continue training a minigrad TinyGPT in PyTorch.  (This file is the README example, verbatim;
# tests/transformer/test_bridge.py runs it.)
import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

import minigrad as mg
from minigrad.io import save_safetensors
from minigrad.models.tinygpt import TinyGPT
from minigrad.optim import AdamW

# 1. Train a few steps in minigrad, then save the weights.
mg.manual_seed(0)
model = TinyGPT(vocab_size=64, context_length=16, d_model=32, n_heads=4, n_layers=2)
opt = AdamW(model.parameters(), lr=3e-3)
data = np.random.default_rng(0).integers(0, 64, size=(8, 17))
ids, targets = data[:, :-1], data[:, 1:]  # predict the next token
for _ in range(5):
    model.train_step(opt, ids, targets)
save_safetensors(model, "tinygpt.safetensors")


# 2. The same model in plain PyTorch: same attribute names, so the state dict keys match.
class Block(nn.Module):
    def __init__(self, d, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.Module()  # holds attn.qkv and attn.proj
        self.attn.qkv, self.attn.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.attn.qkv(self.ln1(x)).view(b, t, 3, self.n_heads, d // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (b, heads, t, head_dim)
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class TorchGPT(nn.Module):
    def __init__(self, vocab_size, context_length, d_model, n_heads, n_layers):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, ids):
        x = self.tok_emb(ids) + self.pos_emb(torch.arange(ids.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


# 3. Load the weights and keep training in PyTorch (the optimizer starts fresh).
tmodel = TorchGPT(vocab_size=64, context_length=16, d_model=32, n_heads=4, n_layers=2)
tmodel.load_state_dict(load_file("tinygpt.safetensors"))
topt = torch.optim.AdamW(tmodel.parameters(), lr=3e-3)
tids, ttargets = torch.from_numpy(ids), torch.from_numpy(targets)
losses = []
for _ in range(5):
    topt.zero_grad()
    loss = nn.functional.cross_entropy(tmodel(tids).flatten(0, 1), ttargets.flatten())
    loss.backward()
    topt.step()
    losses.append(loss.item())
print("PyTorch losses:", [round(x, 4) for x in losses])
