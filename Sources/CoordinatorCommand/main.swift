print("coordinator")
