print("vmsim")
