# namespaces sources are added here
