// DepotWalker: page_ext, page_owner, stack depot and the other kernel walkers.
import ELFCore
