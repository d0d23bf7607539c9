# The link server (Toxiproxy HTTP API v2) as a container, for docker-compose.chaos.yml.
# Needs a registry with Microsoft's .NET images; on machines without one, use
# ./resilience links serve instead.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/VoxGuard.Resilience.Cli -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# Inside its own network namespace the container's loopback is private; the API is published
# to the host's loopback only (see docker-compose.chaos.yml).
ENTRYPOINT ["dotnet", "voxguard-resilience.dll", "links", "serve", "--listen", "127.0.0.1:8474"]
