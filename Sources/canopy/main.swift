import CanopyControl

print("canopy \(Canopy.version)")
