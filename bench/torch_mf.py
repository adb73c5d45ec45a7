"""A PyTorch MF trained with the same sampled-softmax loss, as a yardstick for the trainer's quality runs.

Usage: bench/.venv/bin/python bench/torch_mf.py LR sparse|dense EPOCHS [detach]
  detach: the K negatives get no gradient (like constant bank rows).
Prints Recall@20 on the first 5,000 test users of ../shared/datasets/gowalla after each epoch.
"""
import numpy as np, torch, sys, time, os
torch.set_num_threads(1)
d=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'datasets', 'gowalla') + '/'
def read(f):
    out={}
    for line in open(d+f):
        p=line.split()
        if len(p)>1: out[int(p[0])]=[int(x) for x in p[1:]]
    return out
tr=read('train.txt'); te=read('test.txt')
nu=29858; ni=40981
pairs=np.array([(u,i) for u,its in tr.items() for i in its],dtype=np.int64)
lr=float(sys.argv[1]); opt_kind=sys.argv[2]; tau=0.1; K=1024; B=3072
torch.manual_seed(0)
U=torch.nn.Embedding(nu,64,sparse=(opt_kind=='sparse')); V=torch.nn.Embedding(ni,64,sparse=(opt_kind=='sparse'))
torch.nn.init.normal_(U.weight,std=0.1); torch.nn.init.normal_(V.weight,std=0.1)
opt=(torch.optim.SparseAdam if opt_kind=='sparse' else torch.optim.Adam)(list(U.parameters())+list(V.parameters()),lr=lr)
def evaluate():
    Un=torch.nn.functional.normalize(U.weight.detach(),dim=1); Vn=torch.nn.functional.normalize(V.weight.detach(),dim=1)
    users=sorted(te)[:5000]; rec=[]
    for s in range(0,len(users),1000):
        b=users[s:s+1000]; S=(Un[b]@Vn.T).numpy()
        for k,u in enumerate(b): S[k,tr.get(u,[])]=-np.inf
        top=np.argpartition(-S,20,axis=1)[:,:20]
        for k,u in enumerate(b): rec.append(len(set(top[k])&set(te[u]))/len(te[u]))
    return np.mean(rec)
for ep in range(int(sys.argv[3])):
    perm=np.random.permutation(len(pairs)); t=time.time()
    for s in range(0,len(perm),B):
        idx=pairs[perm[s:s+B]]; u=torch.from_numpy(idx[:,0]); i=torch.from_numpy(idx[:,1])
        neg=torch.randint(0,ni,(K,))
        uu=torch.nn.functional.normalize(U(u),dim=1); vv=torch.nn.functional.normalize(V(i),dim=1)
        nn_=torch.nn.functional.normalize(V(neg),dim=1)
        if len(sys.argv) > 4 and sys.argv[4] == 'detach': nn_ = nn_.detach()
        logits=torch.cat([(uu*vv).sum(1,keepdim=True), uu@nn_.T],1)/tau
        logits[:,1:][neg[None,:]==i[:,None]]=-1e9
        loss=torch.nn.functional.cross_entropy(logits,torch.zeros(len(u),dtype=torch.long))
        opt.zero_grad(); loss.backward(); opt.step()
    print(ep+1, round(loss.item(),3), 'recall@20(5k users) %.4f'%evaluate(), '%.0fs'%(time.time()-t), flush=True)
