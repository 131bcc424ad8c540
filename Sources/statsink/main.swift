print("statsink")
