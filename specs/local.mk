# specs sources are added here
