"""Local stand-ins for cloud services (Cosmos DB API, later Azurite), started by test sessions."""
