// CanopyEdge: see ../shared/DESIGN.md for this module's room.
