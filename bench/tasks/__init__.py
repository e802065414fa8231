"""The benchmark steps, one function per task, each run in its own process by ``bench.workers``.

``product``: build, warm measurements, cold start of the product; ``baseline``: the same for
LangChain's default recipe; ``chroma``: what ``collection.add`` costs by what is stored.
Only the standard library is imported at the top of these modules: a cold-start task must pay
for importing the system under test, and nothing else.
"""
