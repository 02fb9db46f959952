"""weft.indexers"""
