print("vmowner")
